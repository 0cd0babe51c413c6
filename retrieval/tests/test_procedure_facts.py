"""One fact from a procedure: the sentence, list item or table row that answers, whole and
cited once, in the asker's language; quoted with a word on its language when the procedure
has only the other one; never a record answer that only shares a word with the question."""

from __future__ import annotations

import re

import pytest

from knowledge.models import Document
from knowledge.queries import Record
from retrieval.procedures import Table, fact_units, parse_range, read_procedure, summary_answer
from retrieval.services import index_rebuild
from retrieval.tests.test_procedures import ask

pytestmark = pytest.mark.django_db(transaction=True)

SECURITY = """## Passwords

- Minimum **14 characters**; passphrases are encouraged.
- Accounts are locked for **15 minutes** after **5** failed login attempts.

### Incident levels

| Level | Example | First response time |
|---|---|---|
| P1 | Data leak | 30 minutes |
| P2 | Lost laptop | 2 hours |
| P3 | Phishing e-mail | 1 business day |

Questions: security@example.com.
"""

EXPENSES = """## Masraf / Expenses

### Süreler / Deadlines
- Masraflar harcama tarihinden itibaren **30 gün** içinde girilmelidir.
- Expenses must be submitted within **30 days**.

### Onay / Approval
| Tutar / Amount | Onaylayan / Approver |
|---|---|
| 5.000 TL'ye kadar / up to 5,000 TRY | Doğrudan yönetici / Line manager |
| 5.001 – 25.000 TL | Bölüm müdürü / Department head |
| 25.000 TL üzeri / above 25,000 TRY | CFO |
"""

ONBOARDING = """## İşe başlama

- Deneme süresi **2 aydır**.
- KVKK eğitimi ilk **5 iş günü** içinde tamamlanır.

### Hizmet süresine göre izin

| Hizmet süresi | Yıllık izin |
|---|---|
| 1 yıldan 5 yıla kadar | 14 gün |
| 5 yıldan fazla | 20 gün |
"""


def procedure(key: str, title: str, summary: str, content: str, steps=()) -> Document:
    return Document.objects.create(
        key=key,
        doc_type="procedure",
        title=title,
        body={"title": title, "summary": summary, "steps": list(steps), "content": content},
    )


@pytest.fixture
def policies(company):
    procedure("PX7", "Security Policy", "Password rules and incident levels.", SECURITY)
    procedure("PX8", "Masraf İadesi / Expenses", "Masrafların iadesi. / How expenses are paid back.", EXPENSES)
    procedure("PX9", "İşe Başlama Süreci", "Yeni çalışanın ilk günleri ve deneme süresi.", ONBOARDING)
    procedure(
        "PX10",
        "Hastalık İzni",
        "Hastalıkta bildirim ve rapor.",
        "## Rapor\n\n- Raporunuzu **2 iş günü** içinde İK Portalı'na yükleyin.\n- Rapor günlerinde çalışmayın.",
    )
    Document.objects.create(
        key="E77",
        doc_type="employee",
        title="Ceren Yavuz",
        body={"first_name": "Ceren", "last_name": "Yavuz", "title": "Key Account Manager", "department_id": "D1"},
    )
    index_rebuild()


def test_a_fact_is_the_sentence_that_holds_it_not_a_table_sharing_a_word(client, alice, policies):
    client.force_login(alice)
    data = ask(client, "Deneme süresi kaç ay?")
    assert data["answer"] == "Deneme süresi **2 aydır**. [1]", data["answer"]
    assert [s["key"] for s in data["sources"]] == ["PX9"]


def test_words_a_record_answer_leaves_unexplained_make_it_the_procedure_s_question(client, alice, policies):
    client.force_login(alice)
    answer = ask(client, "How many failed login attempts lock an account?")["answer"]
    assert "**5** failed login attempts" in answer and "Ceren" not in answer, answer
    # A question the records answer stays theirs.
    assert "Ceren Yavuz" in ask(client, "Who is the Key Account Manager?")["answer"]


def test_a_row_named_by_a_cell_is_that_row_and_a_question_about_the_table_gets_it_whole(client, alice, policies):
    client.force_login(alice)
    row = ask(client, "What is the first response time for a P2 incident?")["answer"]
    assert "**2 hours**" in row and "30 minutes" not in row, row
    table = ask(client, "Show me the incident levels table")["answer"]
    assert "| P1 | Data leak | 30 minutes |" in table and "| P3 | Phishing e-mail | 1 business day |" in table


def test_a_bilingual_procedure_answers_in_the_question_s_language_only(client, alice, policies):
    client.force_login(alice)
    turkish = ask(client, "Masrafları kaç gün içinde girmeliyim?")["answer"]
    english = ask(client, "Within how many days must expenses be submitted?")["answer"]
    assert "**30 gün**" in turkish and "30 days" not in turkish, turkish
    assert "**30 days**" in english and "30 gün" not in english, english
    row = ask(client, "Who approves an expense of 3,000 TRY?")["answer"]
    assert "**Line manager**" in row and "Doğrudan" not in row and "Tutar" not in row, row


def test_a_document_only_in_the_other_language_is_quoted_and_says_so(client, alice, policies):
    client.force_login(alice)
    answer = ask(client, "How long is the probation period (deneme süresi)?")["answer"]
    assert answer.startswith("The procedure is in Turkish: “Deneme süresi **2 aydır**.”"), answer


def test_a_number_counts_what_the_column_counts(client, alice, policies):
    client.force_login(alice)
    # 3 days of leave is no row of a table by years of service.
    answer = ask(client, "KVKK eğitimi kaç gün içinde tamamlanır?")["answer"]
    assert "**5 iş günü**" in answer and "14 gün" not in answer, answer
    assert "**14 gün**" in ask(client, "3 yıllık çalışanın yıllık izni kaç gün?")["answer"]


def test_a_summary_takes_the_telling_sentence_of_each_section_and_a_table_as_one_line(policies):
    body = Document.objects.get(key="PX8").body
    expenses = read_procedure(Record("PX8", "procedure", "Masraf İadesi / Expenses", body), body)
    answer = summary_answer(expenses, "en", 1, 2)
    bullets = [line[2:] for line in answer.splitlines() if line.startswith("- ")]
    assert bullets == [
        "Expenses must be submitted within **30 days**.",
        "Onay / Approval: up to 5,000 TRY: Line manager; 5.001 – 25.000 TL: Department head; above 25,000 TRY: CFO.",
    ], bullets
    body = Document.objects.get(key="PX7").body
    security = read_procedure(Record("PX7", "procedure", "Security Policy", body), body)
    text = summary_answer(security, "en", 1, 5)
    assert "Questions:" not in text and text.count("\n- ") == 4  # the contact line is no rule


def test_units_of_a_bilingual_procedure_are_in_one_language():
    body = {"summary": "", "steps": [], "content": EXPENSES}
    units = fact_units(read_procedure(Record("X", "procedure", "X", body), body), "tr")
    sentences = [u.text for u in units if u.kind == "sentence"]
    assert sentences == ["Masraflar harcama tarihinden itibaren **30 gün** içinde girilmelidir."]


def test_a_range_said_in_two_languages_is_one_range():
    bounds = parse_range("5.000 TL'ye kadar / up to 5,000 TRY")
    assert bounds is not None and bounds.holds(3000) and bounds.holds(5000) and not bounds.holds(5001)
    assert Table(["a"], [["b"]]).markdown().startswith("| a |")


def test_a_phrase_known_in_the_other_language_is_no_unknown_topic(client, alice, policies):
    client.force_login(alice)
    data = ask(client, "How long do I have to upload my sick note?")
    assert "**2 iş günü**" in data["answer"] and data["answer"].startswith("The procedure is in Turkish"), data
    assert [s["key"] for s in data["sources"]] == ["PX10"]


@pytest.mark.parametrize(
    "question",
    [
        "Bu belge ne diyor?",
        "How do I do it?",
        "Summarise it in three bullets",
        "₺60.000 alımı kim onaylar?",
        "1.5 yıl çalışan kaç gün izin alır?",
        "%20 prim kime verilir?",
        "Kaç gün iznim var?",
    ],
)
def test_odd_documents_and_numbers_give_a_sensible_answer_never_an_error(client, alice, company, question):
    # A procedure that is only a title, one with a one-sentence summary, one with a table of merged,
    # empty and ragged cells.
    procedure("PX20", "Sadece Başlık", "", "")
    procedure("PX21", "Tek Cümle Politikası", "Bu politika tek cümledir.", "")
    procedure(
        "PX22",
        "Bozuk Tablo",
        "Bozuk tablo.",
        "| Tutar | Onaylayan |\n|---|---|\n| 10.000 TL'ye kadar |\n"
        "| | CFO |\n| 10.001 – 50.000 TL | Bölüm müdürü | fazla |\n| ₺60.000 üzeri | Genel Müdür |",
    )
    index_rebuild()
    client.force_login(alice)
    answer = ask(client, question)["answer"]
    assert answer.strip() and "…" not in answer
    assert not re.search(r"\w\s+[.,;:]", answer.replace("...", "")), answer  # no "word ." joins


def test_a_summary_of_a_one_sentence_document_is_that_sentence(policies):
    body = {"summary": "Bu politika tek cümledir.", "steps": [], "content": ""}
    answer = summary_answer(read_procedure(Record("X", "procedure", "Tek", body), body), "tr", 1, 3)
    assert answer.endswith("- Bu politika tek cümledir.")
