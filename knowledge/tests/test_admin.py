from __future__ import annotations

from knowledge.models import Document
from knowledge.signals import document_changed


def procedure_form(**overrides):
    data = {
        "visibility": "staff",
        "body_title": "Yıllık İzin",
        "body_category": "HR",
        "body_owner_department_id": "",
        "body_version": "",
        "body_effective_date": "",
        "body_summary": "İzin talebi İK Portalı üzerinden yapılır.",
        "body_steps": "Bakiyeni kontrol et.\nTalebi yöneticine gönder.",
        "body_content": "**En az 5 gün** önceden.",
        "body_tags": "izin\nleave",
        "extra_fields": "",
    }
    data.update(overrides)
    return data


def test_hr_edits_a_procedure_in_admin_and_the_change_is_announced(client, hr_user, company, django_capture_on_commit_callbacks):
    received = []
    document_changed.connect(lambda sender, keys, deleted, **kw: received.append(keys), weak=False, dispatch_uid="t-admin")
    client.force_login(hr_user)
    doc = company["PR1"]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/admin/knowledge/document/{doc.pk}/change/", procedure_form())
    finally:
        document_changed.disconnect(dispatch_uid="t-admin")
    assert response.status_code == 302, response.content.decode()[:2000]
    doc.refresh_from_db()
    assert doc.body["content"] == "**En az 5 gün** önceden."
    assert doc.body["steps"] == ["Bakiyeni kontrol et.", "Talebi yöneticine gönder."]
    assert doc.version == 2 and doc.updated_by == hr_user
    assert received == [["PR1"]]


def test_saving_an_unchanged_form_changes_nothing(client, hr_user, company):
    client.force_login(hr_user)
    doc = company["E1"]
    page = client.get(f"/admin/knowledge/document/{doc.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data["body_skills"] = "Python\nKafka"
    data["body_members"] = []
    response = client.post(f"/admin/knowledge/document/{doc.pk}/change/", {k: v for k, v in data.items() if v != []})
    assert response.status_code == 302
    doc.refresh_from_db()
    assert doc.version == 1
    assert doc.body["salary"] == 85000 and isinstance(doc.body["salary"], int)


def test_invalid_fields_get_clear_errors_and_nothing_is_saved(client, hr_user, company, english):
    client.force_login(hr_user)
    doc = company["PR1"]
    response = client.post(
        f"/admin/knowledge/document/{doc.pk}/change/",
        procedure_form(body_title="", body_owner_department_id="E1", extra_fields="{bad"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required." in html
    assert "Not valid JSON" in html
    doc.refresh_from_db()
    assert doc.version == 1


def test_a_link_to_a_missing_document_is_a_field_error(client, hr_user, company):
    client.force_login(hr_user)
    doc = company["PR1"]
    form = procedure_form(extra_fields="")
    response = client.post(
        f"/admin/knowledge/document/{doc.pk}/change/", dict(form, body_summary="", body_steps="", body_content="")
    )
    assert "At least one of these fields must be filled" in response.content.decode()


def test_hr_adds_a_document_after_choosing_its_type(client, hr_user, company):
    client.force_login(hr_user)
    chooser = client.get("/admin/knowledge/document/add/")
    assert "?doc_type=procedure" in chooser.content.decode()
    response = client.post(
        "/admin/knowledge/document/add/?doc_type=procedure",
        dict(procedure_form(body_title="Masraf İadesi", body_owner_department_id="D2"), key="PR2"),
    )
    assert response.status_code == 302
    doc = Document.objects.get(key="PR2")
    assert doc.title == "Masraf İadesi" and doc.body["owner_department_id"] == "D2" and doc.updated_by == hr_user


def test_hr_deletes_a_document(client, hr_user, company):
    client.force_login(hr_user)
    doc = company["PR1"]
    response = client.post(f"/admin/knowledge/document/{doc.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Document.objects.filter(key="PR1").exists()


def test_the_admin_list_is_readable_and_filters_by_type(client, hr_user, company):
    client.force_login(hr_user)
    html = client.get("/admin/knowledge/document/?doc_type=employee").content.decode()
    assert "Ayşe Yılmaz" in html and "Employee" in html
    assert "Kervan" not in html
    assert "85000" not in html  # the list shows columns, not raw JSON
    assert "Yıllık İzin" in client.get("/admin/knowledge/document/?q=izin").content.decode()


def test_employees_cannot_enter_admin(client, alice, company):
    client.force_login(alice)
    response = client.get("/admin/knowledge/document/")
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_hr_cannot_manage_users(client, hr_user):
    client.force_login(hr_user)
    assert client.get("/admin/accounts/user/").status_code == 403


def employee_form(client, doc, **overrides):
    """The change form of ``doc`` as admin fills it in, with ``overrides``."""
    form = client.get(f"/admin/knowledge/document/{doc.pk}/change/").context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(overrides)
    return {k: v for k, v in data.items() if v != []}


def test_another_spelling_of_a_sensitive_field_in_other_fields_becomes_the_field(client, hr_user, company):
    client.force_login(hr_user)
    doc = company["E3"]
    response = client.post(
        f"/admin/knowledge/document/{doc.pk}/change/",
        employee_form(client, doc, extra_fields='{"Salary": 64000, "IBAN": "TR33"}'),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    doc.refresh_from_db()
    assert doc.body["salary"] == 64000 and "Salary" not in doc.body and doc.body["IBAN"] == "TR33"


def test_two_spellings_of_a_sensitive_field_that_disagree_are_a_form_error(client, hr_user, company):
    client.force_login(hr_user)
    doc = company["E1"]
    response = client.post(
        f"/admin/knowledge/document/{doc.pk}/change/",
        employee_form(client, doc, body_skills="Python\nKafka", extra_fields='{"SALARY": 1}'),
    )
    assert response.status_code == 200
    assert "different values" in response.content.decode()
    doc.refresh_from_db()
    assert doc.version == 1 and doc.body["salary"] == 85000
