from __future__ import annotations

import pytest

from knowledge.doctypes import DOC_TYPES, get_doctype, looks_sensitive

EMPLOYEE = {
    "first_name": "Ayşe",
    "last_name": "Yılmaz",
    "title": "Engineer",
    "department_id": "D1",
    "email": "a@example.com",
    "phone": "+90 532",
    "salary": 85000,
    "national_id": "123",
    "skills": ["Python"],
    "badge": "A-12",
}


def test_sensitive_fields_are_declared_per_type():
    assert get_doctype("employee").sensitive_fields == {"salary", "national_id", "phone"}
    assert get_doctype("department").sensitive_fields == {"budget"}
    assert get_doctype("project").sensitive_fields == frozenset()
    assert get_doctype("procedure").sensitive_fields == frozenset()


def test_it_hides_salary_from_the_staff_view():
    schema = get_doctype("employee")
    staff = schema.visible_body(EMPLOYEE, hr=False)
    assert "salary" not in staff and "national_id" not in staff and "phone" not in staff
    assert staff["badge"] == "A-12"  # unknown extra fields are kept
    assert schema.visible_body(EMPLOYEE, hr=True)["salary"] == 85000


def test_the_staff_text_view_never_holds_a_sensitive_value():
    text = get_doctype("employee").as_text(EMPLOYEE, hr=False)
    assert "Ayşe Yılmaz" in text and "Engineer" in text
    for value in ("85000", "123", "+90 532"):
        assert value not in text
    assert "85000" in get_doctype("employee").as_text(EMPLOYEE, hr=True)


def test_a_valid_body_has_no_errors():
    assert get_doctype("employee").validate(EMPLOYEE) == {}


def test_missing_required_fields_are_named():
    errors = get_doctype("employee").validate({"first_name": "Ayşe"})
    assert set(errors) == {"last_name", "title", "department_id"}


def test_wrong_types_get_a_clear_message():
    body = dict(EMPLOYEE, salary="lots", skills="Python", start_date="2024-13-01")
    errors = get_doctype("employee").validate(body)
    assert errors["salary"] == ["Expected a number, got text."]
    assert errors["skills"] == ["Expected a list, got text."]
    assert "is not a date" in errors["start_date"][0]


def test_project_status_must_be_known():
    errors = get_doctype("project").validate({"name": "Atlas", "status": "done"})
    assert "is not one of" in errors["status"][0]


def test_a_procedure_needs_some_text():
    errors = get_doctype("procedure").validate({"title": "Boş"})
    assert "__all__" in errors
    assert get_doctype("procedure").validate({"title": "Dolu", "steps": ["Bir"]}) == {}


def test_links_are_listed_with_their_target_type():
    body = {"name": "Atlas", "status": "active", "lead_id": "E1", "members": ["E1", "E2"], "department_id": "D1"}
    links = [(spec.name, spec.target, key) for spec, key in get_doctype("project").links(body)]
    assert ("lead_id", "employee", "E1") in links
    assert ("members", "employee", "E2") in links
    assert ("department_id", "department", "D1") in links


def test_every_type_has_a_legacy_file_and_a_title():
    for doc_type in DOC_TYPES.values():
        assert doc_type.legacy_file.endswith(".json")
        assert doc_type.fields[0].required


@pytest.mark.parametrize("name", ["Salary", " SALARY ", "salary ", "Sal_ary"])
def test_another_spelling_of_salary_is_the_salary_field(name):
    schema = get_doctype("employee")
    assert schema.canonical_name(name) == "salary"
    assert schema.canonical_body({"first_name": "A", name: 5}) == {"first_name": "A", "salary": 5}


@pytest.mark.parametrize("name", ["national_ID", "NationalId", "national-id", "NATIONAL ID", "nationalId"])
def test_spellings_of_national_id_are_the_national_id_field(name):
    assert get_doctype("employee").canonical_name(name) == "national_id"


def test_a_spelling_that_agrees_with_the_declared_field_is_merged_and_one_that_differs_is_refused():
    schema = get_doctype("employee")
    assert schema.canonical_body(dict(EMPLOYEE, Salary=85000))["salary"] == 85000
    assert "Salary" not in schema.canonical_body(dict(EMPLOYEE, Salary=85000))
    body = dict(EMPLOYEE, Salary=1)
    assert schema.canonical_body(body) == body
    assert schema.validate(body)["salary"] == ["Given more than once with different values, as 'salary', 'Salary'; keep one."]


def test_the_declared_spelling_is_not_a_variant_and_other_types_keep_theirs():
    assert get_doctype("employee").canonical_name("salary") is None
    assert get_doctype("department").canonical_name("Budget") == "budget"
    assert get_doctype("project").canonical_name("Salary") is None  # no such declared field: an extra


@pytest.mark.parametrize(
    "name",
    [
        "IBAN",
        "iban_no",
        "Maaş Bilgisi",
        "MAAŞ",
        "ücret",
        "net_wage",
        "pay_grade",
        "payroll_id",
        "tc_kimlik_no",
        "TCKN",
        "TC No",
        "ssn",
        "employeeSSN",
        "passport_number",
        "Pasaport No",
        "bank_account",
        "BankaHesabı",
        "home_phone",
        "Telefon",
        "mobile",
        "GSM",
        "password",
        "Şifre",
        "api_token",
        "client_secret",
        "birth_date",
        "dateOfBirth",
        "Doğum Tarihi",
        "DOĞUM_TARİHİ",
        "home_address",
        "Ev Adresi",
        "project_budget",
    ],
)
def test_extra_fields_whose_names_look_sensitive_are_sensitive(name):
    assert looks_sensitive(name)
    assert get_doctype("project").is_sensitive(name)


@pytest.mark.parametrize(
    "name", ["badge", "hobby", "display_name", "business_unit", "company", "typing_speed", "notes", "team", "Department Code"]
)
def test_ordinary_extra_fields_are_not(name):
    assert not looks_sensitive(name)


def test_a_declared_field_says_itself_whether_it_is_sensitive():
    schema = get_doctype("employee")
    assert schema.is_sensitive("phone") and schema.is_sensitive("salary")
    assert not schema.is_sensitive("email") and not schema.is_sensitive("title")


def test_the_staff_view_hides_sensitive_looking_extra_fields():
    body = dict(EMPLOYEE, IBAN="TR33 0006", **{"Maaş Bilgisi": "brüt 91.000", "national_ID": "999"})
    schema = get_doctype("employee")
    staff = schema.visible_body(body, hr=False)
    assert {"IBAN", "Maaş Bilgisi", "national_ID"}.isdisjoint(staff) and staff["badge"] == "A-12"
    text = schema.as_text(body, hr=False)
    assert "TR33" not in text and "91.000" not in text and "999" not in text
    assert schema.visible_body(body, hr=True)["IBAN"] == "TR33 0006"
