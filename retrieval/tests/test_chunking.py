from __future__ import annotations

import json

import pytest
from django.conf import settings

from knowledge.doctypes import DOC_TYPES
from retrieval.chunking import HR, STAFF, chunk_document, markdown_sections, windows

NAMES = {"E1": "Ayşe Yılmaz", "E2": "Emre Şahin", "D1": "Yazılım", "P1": "Kervan"}


def resolve(key):
    return NAMES.get(key, key)


def chunks(doc, view=STAFF):
    return chunk_document(
        key=doc["key"], doc_type=doc["doc_type"], title=doc["title"], body=doc["body"], view=view, resolve=resolve
    )


EMPLOYEE = {
    "key": "E1",
    "doc_type": "employee",
    "title": "Ayşe Yılmaz",
    "body": {
        "first_name": "Ayşe",
        "last_name": "Yılmaz",
        "title": "Engineer",
        "department_id": "D1",
        "manager_id": "E2",
        "skills": ["Python", "Kafka"],
        "salary": 85000,
        "national_id": "12345678901",
        "phone": "+90 532 111 2233",
        "badge": "A-12",
    },
}


def test_an_employee_is_one_passage_of_sentences_with_names_resolved():
    [chunk] = chunks(EMPLOYEE)
    assert chunk.text.startswith("Ayşe Yılmaz")
    assert "Ayşe Yılmaz is Engineer in Yazılım." in chunk.text
    assert "Manager / yöneticisi: Emre Şahin." in chunk.text
    assert "Kafka" in chunk.text and "badge: A-12" in chunk.text


def test_the_staff_view_has_no_sensitive_value_and_the_hr_view_has_them():
    staff = chunks(EMPLOYEE)[0].text
    hr = chunks(EMPLOYEE, HR)[0].text
    for value in ("85000", "12345678901", "+90 532 111 2233"):
        assert value not in staff
        assert value in hr


def test_a_project_says_who_leads_it():
    project = {
        "key": "P1",
        "doc_type": "project",
        "title": "Kervan",
        "body": {"name": "Kervan", "code": "KERVAN", "status": "active", "lead_id": "E2", "members": ["E1", "E2"]},
    }
    text = chunks(project)[0].text
    assert "Emre Şahin leads Kervan (KERVAN)" in text
    assert "Members / ekip üyeleri: Ayşe Yılmaz, Emre Şahin." in text


def test_a_procedure_is_split_by_summary_steps_and_content_sections():
    procedure = {
        "key": "PR1",
        "doc_type": "procedure",
        "title": "Yıllık İzin",
        "body": {
            "title": "Yıllık İzin",
            "summary": "İzin nasıl alınır.",
            "steps": ["Portala gir.", "Talep aç."],
            "content": "Giriş metni.\n\n## Süreler\n\n**14 gün** hak.\n\n## Onay\n\nYönetici onaylar.",
        },
    }
    parts = chunks(procedure)
    assert [c.section for c in parts] == ["summary", "steps", "content", "Süreler", "Onay"]
    assert all(c.text.startswith("Yıllık İzin") for c in parts)
    assert "1. Portala gir. 2. Talep aç." in parts[1].text
    assert "Yıllık İzin — Süreler. 14 gün hak." == parts[3].text


def test_long_text_is_windowed_with_overlap():
    text = " ".join(f"w{i}" for i in range(300))
    parts = windows(text, size=100, overlap=20)
    assert len(parts) == 4
    assert parts[0].split()[-20:] == parts[1].split()[:20]
    assert parts[-1].split()[-1] == "w299"
    assert windows("") == []


def test_markdown_sections_keep_text_before_the_first_heading():
    assert markdown_sections("intro\n# A\nx\n## B\ny") == [("", "intro\n"), ("A", "\nx\n"), ("B", "\ny")]


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
def test_no_sample_company_staff_passage_holds_a_sensitive_value(doc_type):
    records = json.loads((settings.SAMPLE_COMPANY_DIR / DOC_TYPES[doc_type].legacy_file).read_text())
    schema = DOC_TYPES[doc_type]
    for record in records:
        body = {k: v for k, v in record.items() if k != "id"}
        text = " ".join(
            c.text
            for c in chunk_document(
                key=record["id"], doc_type=doc_type, title=schema.title(body), body=body, view=STAFF, resolve=resolve
            )
        )
        assert text
        for name in schema.sensitive_fields:
            if body.get(name) not in (None, ""):
                assert str(body[name]) not in text, (record["id"], name)


def test_a_table_in_a_procedure_reads_row_by_row():
    body = {
        "title": "İzin",
        "summary": "",
        "steps": [],
        "content": (
            "## Süreler\n\n| Hizmet süresi | Yıllık izin |\n|---|---|\n| 1–5 yıl | 14 gün |\n| 5 yıldan fazla | 20 gün |\n\n"
            "- Talep portaldan yapılır\n- Yönetici 3 günde onaylar"
        ),
    }
    [chunk] = [
        c
        for c in chunk_document(key="PR1", doc_type="procedure", title="İzin", body=body, view=STAFF, resolve=lambda key: key)
        if c.section == "Süreler"
    ]
    assert "Hizmet süresi: 1–5 yıl; Yıllık izin: 14 gün. Hizmet süresi: 5 yıldan fazla; Yıllık izin: 20 gün." in chunk.text
    assert (
        "Talep portaldan yapılır. - Yönetici 3 günde onaylar." in chunk.text
        or "Talep portaldan yapılır. Yönetici 3 günde onaylar." in chunk.text
    ), chunk.text
