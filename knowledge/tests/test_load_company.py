from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from knowledge.models import Document
from knowledge.signals import document_changed


def write_company(directory: Path, **overrides) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "departments.json": [{"id": "D01", "name": "Yazılım", "head_id": "E001", "budget": 1000}],
        "employees.json": [
            {"id": "E001", "first_name": "Emre", "last_name": "Şahin", "title": "CTO", "department_id": "D01",
             "manager_id": None, "salary": 100, "national_id": "1", "phone": "+90", "hobby": "sailing"},
            {"id": "E002", "first_name": "Ayşe", "last_name": "Yılmaz", "title": "Engineer", "department_id": "D01",
             "manager_id": "E001"},
        ],
        "projects.json": [{"id": "P001", "name": "Kervan", "code": "KERVAN", "status": "active",
                           "department_id": "D01", "lead_id": "E001", "members": ["E001", "E002"]}],
        "procedures.json": [{"id": "PR001", "title": "Yıllık İzin", "summary": "İzin nasıl alınır.",
                             "steps": ["Portala gir."], "owner_department_id": "D01"}],
    }
    files.update(overrides)
    for name, content in files.items():
        path = directory / name
        path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=False), "utf-8")
    return directory


def load(directory, *args):
    call_command("load_company", str(directory), *args)


@pytest.mark.django_db
def test_it_imports_every_record_and_keeps_extra_fields(tmp_path):
    load(write_company(tmp_path / "c"))
    assert Document.objects.count() == 5
    emre = Document.objects.get(key="E001")
    assert emre.doc_type == "employee" and emre.title == "Emre Şahin"
    assert emre.body["hobby"] == "sailing" and "id" not in emre.body


@pytest.mark.django_db
def test_a_second_run_changes_nothing(tmp_path, capsys):
    directory = write_company(tmp_path / "c")
    load(directory)
    before = {d.key: (d.version, d.updated_at) for d in Document.objects.all()}
    load(directory)
    assert {d.key: (d.version, d.updated_at) for d in Document.objects.all()} == before
    assert "Done: 0 document(s) changed." in capsys.readouterr().out


@pytest.mark.django_db
def test_a_changed_record_is_updated_in_place(tmp_path):
    directory = write_company(tmp_path / "c")
    load(directory)
    pk = Document.objects.get(key="PR001").pk
    write_company(directory, **{"procedures.json": [
        {"id": "PR001", "title": "Annual Leave", "summary": "Changed.", "owner_department_id": "D01"}]})
    load(directory)
    doc = Document.objects.get(key="PR001")
    assert (doc.pk, doc.title, doc.version, doc.body["summary"]) == (pk, "Annual Leave", 2, "Changed.")


@pytest.mark.django_db
def test_it_announces_changed_documents_after_commit(tmp_path, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, keys, deleted, **kwargs):
        received.append((sorted(keys), deleted))

    document_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            load(write_company(tmp_path / "c"))
    finally:
        document_changed.disconnect(receiver)
    assert received == [(["D01", "E001", "E002", "P001", "PR001"], False)]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"employees.json": "[{\"id\": \"E001\","}, "employees.json: invalid JSON"),
        ({"employees.json": [{"id": "E001", "last_name": "X", "title": "T", "department_id": "D01"}]},
         "employees.json: record E001: field first_name: This field is required."),
        ({"projects.json": [{"id": "P001", "name": "K", "status": "active", "department_id": "D99"}]},
         "projects.json: record P001: field department_id: 'D99' does not match any department"),
        ({"projects.json": [{"id": "P001", "name": "K", "status": "active", "lead_id": "D01"}]},
         "projects.json: record P001: field lead_id: 'D01' is a department, not a employee"),
        ({"departments.json": {"id": "D01"}}, "departments.json: must hold a JSON array of records"),
        ({"procedures.json": [{"id": "PR001", "title": "A", "summary": "s"}, {"id": "PR001", "title": "B", "summary": "t"}]},
         "procedures.json: record PR001: duplicate id: already used in this file"),
        ({"procedures.json": [{"id": "E001", "title": "A", "summary": "s"}]},
         "procedures.json: record E001: duplicate id: already used in employees.json"),
        ({"employees.json": [{"id": "E001", "first_name": "A", "last_name": "B", "title": "T",
                              "department_id": "D01", "salary": "çok"}]},
         "employees.json: record E001: field salary: Expected a number, got text."),
    ],
)
@pytest.mark.django_db
def test_a_broken_file_is_refused_whole_with_file_and_record_named(tmp_path, capsys, overrides, expected):
    with pytest.raises(CommandError, match="Nothing was imported"):
        load(write_company(tmp_path / "c", **overrides))
    assert expected in capsys.readouterr().err
    assert Document.objects.count() == 0


@pytest.mark.django_db
def test_a_missing_directory_is_refused(tmp_path, capsys):
    with pytest.raises(CommandError):
        load(tmp_path / "nope")
    assert "directory not found" in capsys.readouterr().err


@pytest.mark.django_db
def test_a_missing_file_is_named(tmp_path, capsys):
    directory = write_company(tmp_path / "c")
    (directory / "projects.json").unlink()
    with pytest.raises(CommandError):
        load(directory)
    assert "projects.json: file not found" in capsys.readouterr().err
    assert Document.objects.count() == 0


@pytest.mark.django_db
def test_no_strict_imports_what_is_valid_and_skips_what_links_to_the_broken(tmp_path, capsys):
    directory = write_company(tmp_path / "c", **{"departments.json": [{"id": "D01"}]})
    load(directory, "--no-strict")
    # The department is broken; everything that links to it is skipped too.
    assert set(Document.objects.values_list("key", flat=True)) == set()
    err = capsys.readouterr().err
    assert "departments.json: record D01: field name" in err
    assert "employees.json: record E001: field department_id" in err


@pytest.mark.django_db
def test_dry_run_writes_nothing(tmp_path, capsys):
    load(write_company(tmp_path / "c"), "--dry-run")
    assert Document.objects.count() == 0
    assert "dry run" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_bundled_sample_company_loads_with_its_cross_links():
    load(settings.SAMPLE_COMPANY_DIR)
    counts = {t: Document.objects.filter(doc_type=t).count() for t in ("employee", "department", "project", "procedure")}
    assert counts == {"employee": 40, "department": 6, "project": 10, "procedure": 12}
    employees = Document.objects.filter(doc_type="employee")
    assert sum(1 for e in employees if e.body.get("manager_id") is None) == 1
    assert all(Document.objects.filter(key=d.body["head_id"]).exists() for d in Document.objects.filter(doc_type="department"))


@pytest.mark.django_db
def test_if_empty_never_overwrites_an_edited_document(tmp_path, capsys):
    directory = write_company(tmp_path / "c")
    load(directory, "--if-empty")
    Document.objects.filter(key="PR001").update(title="Edited by HR")
    load(directory, "--if-empty")
    assert Document.objects.get(key="PR001").title == "Edited by HR"
    assert "not loaded again" in capsys.readouterr().out
