"""Exact answers from the structured documents, on the small company of conftest."""

from __future__ import annotations

import json

import pytest

from accounts.models import Role
from accounts.services import user_create
from knowledge.models import Document
from retrieval.structured import structured_answer


def ask(user, question, history=None):
    return structured_answer(user=user, question=question, history=history or [])


def keys(answer):
    return [r.key for r in answer.records]


def turn(question, answer):
    return [
        {"role": "user", "content": question, "sources": []},
        {"role": "assistant", "content": answer.text, "sources": keys(answer)},
    ]


def test_a_lookup_is_one_sentence_in_the_question_language_with_its_citations(alice, company):
    en = ask(alice, "Who leads the KERVAN project?")
    tr = ask(alice, "Kervan projesini kim yönetiyor?")
    assert en.text == "Emre Şahin leads Kervan [1][2]." and keys(en) == ["P1", "E2"]
    assert tr.text == "Kervan projesini Emre Şahin yönetiyor [1][2]."


def test_names_match_without_turkish_letters_and_in_any_case(alice, company):
    answer = ask(alice, "ayse yilmaz hangi departmanda?")
    assert "Yazılım" in answer.text and keys(answer)[0] == "E1"
    assert "Emre Şahin" in ask(alice, "who leads kervan?").text


def test_a_list_is_complete_and_holds_nothing_that_does_not_match(alice, company):
    answer = ask(alice, "Who works in the Yazılım department?")
    assert "Ayşe Yılmaz" in answer.text and "Emre Şahin" in answer.text and "Zeynep" not in answer.text
    assert answer.kind == "list" and set(keys(answer)) >= {"E1", "E2"}


def test_a_count_gives_the_number_and_the_items(alice, company):
    answer = ask(alice, "Kaç çalışan var?")
    assert "3 çalışan" in answer.text and {"E1", "E2", "E3"} <= set(keys(answer))


def test_a_filter_by_a_skill_names_who_has_it(alice, company):
    answer = ask(alice, "Who knows Kafka?")
    assert "Ayşe Yılmaz" in answer.text and "Emre" not in answer.text and keys(answer) == ["E1"]


def test_the_asker_is_the_linked_employee(alice, company):
    answer = ask(alice, "Yöneticim kim?")
    assert "Emre Şahin" in answer.text and keys(answer) == ["E1", "E2"]
    assert "Kervan" in ask(alice, "Which projects do I work on?").text


def test_answers_about_the_asker_are_said_to_them(alice, company):
    assert ask(alice, "Who is my manager?").text == "Your manager is Emre Şahin [1][2]."
    assert ask(alice, "Yöneticim kim?").text == "Yöneticiniz Emre Şahin [1][2]."
    assert ask(alice, "Who is Ayşe Yılmaz's manager?").text == "Emre Şahin is Ayşe Yılmaz's manager [1][2]."


def test_an_account_without_an_employee_says_so(stranger, company):
    answer = ask(stranger, "Who is my manager?")
    assert answer.refusal and answer.records == [] and "No employee record is linked" in answer.text


def test_a_follow_up_is_about_what_the_conversation_is_about(alice, company):
    first = ask(alice, "Who leads the KERVAN project?")
    history = turn("Who leads the KERVAN project?", first)
    others = ask(alice, "Who else works on it?", history)
    assert "Ayşe Yılmaz" in others.text and "Emre" not in others.text and others.text.startswith("Besides those")
    assert "Emre Şahin" in ask(alice, "What about KERVAN?", turn("Who leads KERVAN?", first)).text


def test_a_follow_up_with_no_earlier_turn_asks_which_one(alice, company):
    answer = ask(alice, "Who else works on it?")
    assert answer.refusal and answer.records == [] and "Which project" in answer.text


def test_employees_are_told_a_sensitive_field_is_for_hr_and_nothing_about_it(alice, company):
    for question in ("What is Emre Şahin's salary?", "Who earns more than 100,000?", "Ayşe'nin TC kimlik numarası nedir?"):
        answer = ask(alice, question)
        assert answer.refusal and answer.records == [], question
        assert "HR" in answer.text or "İK" in answer.text
        assert "Emre" not in answer.text.replace("Emre Şahin's", "") and "210" not in answer.text


def test_hr_gets_the_sensitive_answer(hr_user, company):
    assert "210,000" in ask(hr_user, "What is Emre Şahin's salary?").text
    richest = ask(hr_user, "Who earns more than 100,000?")
    assert "Emre Şahin" in richest.text and "Ayşe" not in richest.text


def test_a_name_nobody_has_is_a_plain_refusal(alice, company):
    for question in ("Who leads the ZEPHYR project?", "What is Mehmet Yılmaz's title?"):
        answer = ask(alice, question)
        assert answer.refusal and answer.records == [] and "could not find" in answer.text, question


def test_two_people_of_the_same_name_are_asked_about(alice, company):
    Document.objects.create(
        key="E9",
        doc_type="employee",
        title="Ayşe Kaya",
        body={"first_name": "Ayşe", "last_name": "Kaya", "title": "Designer", "department_id": "D2"},
    )
    answer = ask(alice, "Where does Ayşe work?")
    assert answer.kind == "ambiguous" and "Ayşe Yılmaz" in answer.text and "Ayşe Kaya" in answer.text


def test_questions_about_procedures_are_left_to_the_text_answerer(alice, company):
    assert ask(alice, "Yıllık izin nasıl talep edilir?") is None


@pytest.mark.parametrize("question", ["", "???", "the of and", "x" * 4000])
def test_odd_questions_never_raise(alice, company, question):
    ask(alice, question)


def test_hr_only_documents_are_never_named_to_employees(alice, company):
    hidden = user_create(username="dora", role=Role.EMPLOYEE, employee_key="E3")
    assert "Bordro" not in (ask(hidden, "List all procedures") or ask(alice, "List all procedures")).text


def test_initials_name_units_in_capitals_and_never_people(alice, company):
    assert "Zeynep Kaya" in ask(alice, "Who works in İK?").text
    # "AY" are Ayşe Yılmaz's initials: a person is not named by them.
    answer = ask(alice, "Who leads AY?")
    assert answer is None or "Ayşe" not in answer.text


def test_a_long_count_names_the_first_items_and_says_how_many_more(alice, company):
    for n in range(40):
        Document.objects.create(
            key=f"X{n}",
            doc_type="employee",
            title=f"Kişi {n}",
            body={"first_name": "Kişi", "last_name": str(n), "title": "Operator", "department_id": "D2"},
        )
    answer = ask(alice, "How many employees are there?")
    assert answer.text.startswith("43 employees") and answer.text.endswith("…and 13 more.")
    assert len(answer.records) == 30


def test_yes_or_no_on_membership(alice, company):
    yes = ask(alice, "Is Ayşe Yılmaz on the KERVAN team?")
    assert yes.text == "Yes: Ayşe Yılmaz is among the members of Kervan [1][2]." and keys(yes) == ["P1", "E1"]
    no = ask(alice, "Zeynep Kaya Kervan projesinde mi?")
    assert no.text.startswith("Hayır: Zeynep Kaya, Kervan kaydında üyeler arasında yer almıyor")


def test_two_fields_of_one_subject_in_one_question(alice, company):
    answer = ask(alice, "Which department is Zeynep Kaya in, and who is her manager?")
    assert "İnsan Kaynakları" in answer.text and "Emre Şahin" in answer.text and keys(answer)[0] == "E3"


def test_a_role_one_person_holds_is_said_in_a_sentence(alice, company):
    assert ask(alice, "Who is the CTO?").text == "The CTO is Emre Şahin (CTO) [1]."


def test_a_question_with_words_nothing_explains_is_no_follow_up(alice, company):
    # Not "Which employee do you mean?": these go to the text answerer, which may say it found nothing.
    for question in ("What is the policy on pets in the office?", "What is the dress code on Fridays?"):
        answer = ask(alice, question)
        assert answer is None or answer.kind != "which", question


def test_lists_about_the_asker_are_said_to_them(alice, hr_user, company):
    assert ask(alice, "Benim projelerim neler?").text.startswith("Sizin yer aldığınız 1 proje var")
    boss = user_create(username="emre", role=Role.EMPLOYEE, employee_key="E2")
    assert ask(boss, "Who reports to me?").text.startswith("2 employees reporting to you")


def test_a_link_to_a_document_the_asker_may_not_see_shows_neither_name_nor_key(alice, hr_user, company):
    from knowledge.models import Visibility
    from knowledge.queries import knowledge_snapshot
    from retrieval.llm.tools import Toolbox
    from retrieval.pipeline import record_source

    Document.objects.create(
        key="E77",
        doc_type="employee",
        title="Gizli Müdür",
        visibility=Visibility.HR,
        body={"first_name": "Gizli", "last_name": "Müdür", "title": "Director", "department_id": "D2"},
    )
    Document.objects.filter(key="E3").update(body={**company["E3"].body, "manager_id": "E77"})
    answer = ask(alice, "Who is Zeynep Kaya's manager?")
    assert "Gizli" not in answer.text and "E77" not in answer.text and keys(answer) == ["E3"]
    assert "Gizli Müdür" in ask(hr_user, "Who is Zeynep Kaya's manager?").text
    snapshot = knowledge_snapshot(user=alice)
    zeynep = snapshot.by_key()["E3"]
    assert "E77" not in record_source(1, zeynep, snapshot).passages[0]
    found = json.loads(
        Toolbox(user=alice, snapshot=snapshot, sources=[]).call("find_documents", {"doc_type": "employee", "keys": ["E3"]})
    )
    assert found["documents"][0]["fields"]["manager_id"] is None


def test_which_has_the_most_counts_the_links(alice, company):
    assert ask(alice, "Which department has the most employees?").text == ("Yazılım [1] has the most employees: 2.")
    assert ask(alice, "Hangi departmanda en az çalışan var?").text.startswith(
        "En az çalışanı olan departman: İnsan Kaynakları [1] (1 çalışan)"
    )
    assert ask(alice, "Who has the most direct reports?").text == "Emre Şahin [1] has the most direct reports: 2."


def test_a_negated_filter_keeps_the_others(alice, company):
    answer = ask(alice, "Who does not know Kafka?")
    assert "Ayşe" not in answer.text and "Emre Şahin" in answer.text and "Zeynep Kaya" in answer.text
    assert ask(alice, "Kafka bilmeyenler kimler?").text.startswith("Kafka hariç 2 çalışan var")
    assert "Kervan" not in ask(alice, "Which projects are not active?").text


def test_when_a_follow_up_asks_when_it_ended_the_date_wins_over_the_status_word(alice, company):
    Document.objects.filter(key="P1").update(body={**company["P1"].body, "end_date": "2025-05-30"})
    first = ask(alice, "Who leads the KERVAN project?")
    answer = ask(alice, "Ne zaman bitti?", turn("Who leads the KERVAN project?", first))
    assert "30 Mayıs 2025" in answer.text and keys(answer) == ["P1"]
    assert ask(alice, "Hangi projeler bitti?").kind == "list"


@pytest.mark.parametrize("question", ["Who manages Ayşe?", "Who manages Ayşe Yılmaz?"])
def test_who_manages_someone_asks_for_their_manager(alice, company, question):
    found = ask(alice, question)
    assert found.text == "Emre Şahin is Ayşe Yılmaz's manager [1][2]."
    reports = ask(alice, "Whom does Emre manage?")
    assert "Ayşe Yılmaz" in reports.text and "Zeynep Kaya" in reports.text
    assert ask(alice, "Who reports to Emre?").text == reports.text


def test_who_works_for_someone_lists_their_reports_and_whom_someone_works_for_is_their_manager(alice, company):
    reports = ask(alice, "Who works for Emre?")
    assert (
        "Ayşe Yılmaz" in reports.text
        and "Zeynep Kaya" in reports.text
        and reports.text == ask(alice, "Who reports to Emre?").text
    )
    assert ask(alice, "Who does Ayşe work for?").text == "Emre Şahin is Ayşe Yılmaz's manager [1][2]."
