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
            {
                "id": "E001",
                "first_name": "Emre",
                "last_name": "Şahin",
                "title": "CTO",
                "department_id": "D01",
                "manager_id": None,
                "salary": 100,
                "national_id": "1",
                "phone": "+90",
                "hobby": "sailing",
            },
            {
                "id": "E002",
                "first_name": "Ayşe",
                "last_name": "Yılmaz",
                "title": "Engineer",
                "department_id": "D01",
                "manager_id": "E001",
            },
        ],
        "projects.json": [
            {
                "id": "P001",
                "name": "Kervan",
                "code": "KERVAN",
                "status": "active",
                "department_id": "D01",
                "lead_id": "E001",
                "members": ["E001", "E002"],
            }
        ],
        "procedures.json": [
            {
                "id": "PR001",
                "title": "Yıllık İzin",
                "summary": "İzin nasıl alınır.",
                "steps": ["Portala gir."],
                "owner_department_id": "D01",
            }
        ],
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
    write_company(
        directory,
        **{"procedures.json": [{"id": "PR001", "title": "Annual Leave", "summary": "Changed.", "owner_department_id": "D01"}]},
    )
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
        ({"employees.json": '[{"id": "E001",'}, "employees.json: invalid JSON"),
        (
            {"employees.json": [{"id": "E001", "last_name": "X", "title": "T", "department_id": "D01"}]},
            "employees.json: record E001: field first_name: This field is required.",
        ),
        (
            {"projects.json": [{"id": "P001", "name": "K", "status": "active", "department_id": "D99"}]},
            "projects.json: record P001: field department_id: 'D99' does not match any department",
        ),
        (
            {"projects.json": [{"id": "P001", "name": "K", "status": "active", "lead_id": "D01"}]},
            "projects.json: record P001: field lead_id: 'D01' is a department, not a employee",
        ),
        ({"departments.json": {"id": "D01"}}, "departments.json: must hold a JSON array of records"),
        (
            {"procedures.json": [{"id": "PR001", "title": "A", "summary": "s"}, {"id": "PR001", "title": "B", "summary": "t"}]},
            "procedures.json: record PR001: duplicate id: already used in this file",
        ),
        (
            {"procedures.json": [{"id": "E001", "title": "A", "summary": "s"}]},
            "procedures.json: record E001: duplicate id: already used in employees.json",
        ),
        (
            {
                "employees.json": [
                    {"id": "E001", "first_name": "A", "last_name": "B", "title": "T", "department_id": "D01", "salary": "çok"}
                ]
            },
            "employees.json: record E001: field salary: Expected a number, got text.",
        ),
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


# --- Sensitive fields under other spellings ---------------------------------------

VARIANTS = {
    "id": "E003",
    "first_name": "Zeynep",
    "last_name": "Kaya",
    "title": "Analyst",
    "department_id": "D01",
    "Salary": 91000,
    "national_ID": "24681357900",
    "IBAN": "TR33 0006 1005 1978 6457 8413 26",
    "Maaş Bilgisi": "brüt 91.000 TL",
    "hobby": "chess",
}


def with_variants(directory: Path, **record) -> Path:
    employees = json.loads((directory / "employees.json").read_text("utf-8"))
    (directory / "employees.json").write_text(json.dumps(employees + [dict(VARIANTS, **record)]), "utf-8")
    return directory


@pytest.mark.django_db
def test_other_spellings_of_a_sensitive_field_become_the_declared_field(tmp_path):
    load(with_variants(write_company(tmp_path / "c")))
    body = Document.objects.get(key="E003").body
    assert body["salary"] == 91000 and body["national_id"] == "24681357900"
    assert "Salary" not in body and "national_ID" not in body
    assert body["IBAN"].startswith("TR33") and body["Maaş Bilgisi"] and body["hobby"] == "chess"


@pytest.mark.django_db
@pytest.mark.parametrize("spelling", ["Salary", "SALARY", " salary ", "Sal-ary"])
def test_a_sensitive_field_given_twice_with_different_values_is_refused(tmp_path, capsys, spelling):
    directory = with_variants(write_company(tmp_path / "c"), **{"Salary": None, "salary": 1, spelling: 2})
    with pytest.raises(CommandError, match="Nothing was imported"):
        load(directory)
    assert "employees.json: record E003: field salary: Given more than once with different values" in (capsys.readouterr().err)
    assert Document.objects.count() == 0


@pytest.mark.django_db
def test_imported_sensitive_looking_fields_are_hidden_from_employees(tmp_path, client, alice, hr_user, english):
    load(with_variants(write_company(tmp_path / "c")))
    secrets = ("91000", "24681357900", "TR33", "brüt 91.000")
    client.force_login(alice)
    api = client.get("/api/documents/E003/").content.decode()
    page = client.get("/documents/E003/").content.decode()
    for secret in secrets:
        assert secret not in api and secret not in page
    assert "chess" in api and "chess" in page
    client.force_login(hr_user)
    api = client.get("/api/documents/E003/").content.decode()
    page = client.get("/documents/E003/").content.decode()
    for secret in secrets:
        assert secret in api and secret in page


# --- Values the database cannot hold -------------------------------------------------

EMPLOYEE = (
    '{"id": "E001", "first_name": "Emre", "last_name": "Şahin", "title": "CTO", "department_id": "D01", "manager_id": null%s}'
)


def employees(extra: str) -> str:
    """employees.json as raw text, the first record ending with ``extra``."""
    return (
        "[" + EMPLOYEE % extra + ', {"id": "E002", "first_name": "Ayşe", "last_name": "Yılmaz", '
        '"title": "Engineer", "department_id": "D01", "manager_id": "E001"}]'
    )


def refused(tmp_path, capsys, *args, **overrides) -> str:
    """Load a broken directory for real and as a dry run: both refuse it, write
    nothing, and report the same problems; returns them."""
    directory = write_company(tmp_path / "c", **overrides)
    reports = []
    for dry in (["--dry-run"], []):
        with pytest.raises(CommandError, match="Nothing was imported"):
            load(directory, *args, *dry)
        reports.append(capsys.readouterr().err)
    assert reports[0] == reports[1]
    assert Document.objects.count() == 0
    return reports[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("../E001", "is not a valid key"),
        ("..", "is not a valid key"),
        ("E/001", "is not a valid key"),
        ("E\\001", "is not a valid key"),
        ("E\x1b[31m", "is not a valid key"),
        ("E\t1", "is not a valid key"),
        ("Ç01", "is not a valid key"),
        ("E" * 65, "is not a valid key"),
        ("E\x00", "text holds a NUL character"),
    ],
)
def test_a_key_the_api_refuses_is_refused(tmp_path, capsys, key, reason):
    record = {"id": key, "title": "A", "summary": "s"}
    err = refused(tmp_path, capsys, **{"procedures.json": [record]})
    assert "procedures.json: record #1: " in err and reason in err
    assert "\x1b" not in err  # shown escaped, never sent to the terminal


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (', "salary": 1, "salary": 2', "record E001: field salary: given more than once"),
        (', "id": "E009"', "record #1: field id: given more than once"),
        (', "x": {"a": 1, "a": 1}', "record E001: field x.a: given more than once"),
        (', "salary": NaN', "record E001: field salary: NaN is not a number JSON allows"),
        (', "salary": Infinity', "record E001: field salary: Infinity is not a number JSON allows"),
        (', "salary": -Infinity', "record E001: field salary: -Infinity is not a number JSON allows"),
        (', "salary": 1e400', "record E001: field salary: 1e400 is beyond the range of a number"),
        (', "salary": 9223372036854775808', "record E001: field salary: 9223372036854775808 is too large a number"),
        (', "salary": -9223372036854775809', "record E001: field salary: -9223372036854775809 is too large"),
        (', "n": ' + "9" * 5000, "record E001: field n: 999999999999999999999999… is too large a number"),
        (', "skills": ["Py\\u0000thon"]', "record E001: field skills[0]: text holds a NUL character"),
        (', "x\\u0000": 1', "record E001: field 'x\\x00': the name holds a NUL character"),
        (', "note": "\\ud800"', "record E001: field note: text holds an unpaired surrogate"),
        (', "deep": ' + "[" * 40 + "]" * 40, "record E001: field deep" + "[0]" * 30 + ": nested deeper than 32 levels"),
    ],
)
def test_a_value_the_database_cannot_hold_is_refused_with_its_record(tmp_path, capsys, extra, expected):
    err = refused(tmp_path, capsys, **{"employees.json": employees(extra)})
    assert "employees.json: " + expected in err


@pytest.mark.django_db
def test_the_largest_storable_integers_are_imported(tmp_path):
    load(
        write_company(
            tmp_path / "c",
            **{"employees.json": employees(', "salary": 9223372036854775807, "debt": -9223372036854775808, "ratio": 1.5e300')},
        )
    )
    body = Document.objects.get(key="E001").body
    # PostgreSQL's jsonb keeps numbers as numeric and hands 1.5e300 back in full digits: the same number.
    assert (body["salary"], body["debt"], float(body["ratio"])) == (2**63 - 1, -(2**63), 1.5e300)


@pytest.mark.django_db
def test_json_nested_too_deep_for_the_parser_is_a_clean_error(tmp_path, capsys):
    err = refused(tmp_path, capsys, **{"employees.json": "[" * 100_000})
    assert "employees.json: record #1: nested deeper than 32 levels (line 1, column 33)" in err


@pytest.mark.django_db
def test_a_deep_record_is_named_by_its_position(tmp_path, capsys):
    text = employees("").replace('{"id": "E002"', "[" * 5000 + "]" * 5000 + ', {"id": "E002"', 1)
    err = refused(tmp_path, capsys, **{"employees.json": text})
    assert "employees.json: record #2: nested deeper than 32 levels" in err


@pytest.mark.django_db
def test_a_title_longer_than_the_column_is_refused(tmp_path, capsys):
    err = refused(tmp_path, capsys, **{"procedures.json": [{"id": "PR001", "title": "T" * 301, "summary": "s"}]})
    assert "procedures.json: record PR001: record: the title is longer than 300 characters" in err


@pytest.mark.django_db
def test_no_strict_skips_the_record_that_cannot_be_stored_and_imports_the_rest(tmp_path, capsys):
    load(
        write_company(
            tmp_path / "c",
            **{
                "procedures.json": '[{"id": "PR001", "title": "A", "summary": NaN},'
                ' {"id": "PR002", "title": "B", "summary": "s"}]'
            },
        ),
        "--no-strict",
    )
    assert Document.objects.filter(key="PR002").exists() and not Document.objects.filter(key="PR001").exists()
    assert "procedures.json: record PR001: field summary: NaN" in capsys.readouterr().err
