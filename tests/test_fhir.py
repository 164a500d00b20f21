"""The FHIR R4 export: the pure builder by tables, then GET /patients/<id>/fhir on both DBs."""

import base64
import hashlib
import json
import secrets
import warnings
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from spastic.clinical import scales
from spastic.clinical.dosing import DoseChange
from spastic.clinical.records import VisitRecord
from spastic.exports import fhir, fhir_pumps, fhir_terms
from spastic.exports.fhir_terms import UCUM
from spastic.extensions import db
from spastic.models import Amendment, AuditEvent, MasScore, SummaryDocument, Visit, utcnow

with warnings.catch_warnings():
    # fhir.resources probes for optional lxml; a package's import hook (pygal's did, before the
    # chart was drawn by trends/drawing.py) can turn that probe into an ImportWarning, an error.
    warnings.simplefilter("ignore", ImportWarning)
    from fhir.resources.R4B.bundle import Bundle

PATIENT = fhir.PatientFacts(3, 7, "MU-42", "Müller", "Zoë", date(1970, 1, 2), "female")
REGIMEN = (
    DoseChange(date(2026, 1, 5), "oral", Decimal(30), "mg/day", sequence=1),
    DoseChange(date(2026, 2, 1), "oral", Decimal("45.5"), "mg/day", sequence=2),
    DoseChange(date(2026, 3, 1), "intrathecal", Decimal(150), "mcg/day", sequence=3),
    DoseChange(date(2026, 4, 1), "oral", Decimal(0), "mg/day", sequence=4, stopped=True),
    DoseChange(date(2026, 9, 1), "intrathecal", Decimal(180), "mcg/day", sequence=5),
)
AS_OF = date(2026, 5, 1)


def _record(visit_id=11, grades=None, **fields) -> VisitRecord:
    values = {"pain_now": 4, "pain_worst": 7, "penn_frequency": 2, "penn_severity": 1, **fields}
    if grades is None:
        grades = {
            ("elbow_flexors", "left"): "1+",
            ("elbow_flexors", "right"): None,
            ("knee_flexors", "left"): "4",
        }
    return VisitRecord(visit_id, date(2026, 1, 10), "Tess Mills", grades, **values)


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _mas(bundle: dict) -> dict:
    """Map (muscle, side) to (grade code, ordinal) for every MAS Observation."""
    found = {}
    for obs in _resources(bundle, "Observation"):
        if obs["code"]["coding"][0]["code"] != scales.SNOMED_MAS:
            continue
        muscle = obs["bodySite"]["coding"][0]["code"]
        side_code = obs["bodySite"]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
        side = {code: name for name, (code, _) in fhir.SIDE_CODES.items()}[side_code]
        coding = obs["valueCodeableConcept"]["coding"][0]
        assert coding["system"] == fhir.MAS_GRADE_SYSTEM
        assert coding["extension"][0]["url"] == fhir.ORDINAL_VALUE
        found[(muscle, side)] = (coding["code"], coding["extension"][0]["valueDecimal"])
    return found


def _pain(bundle: dict) -> dict:
    return {
        obs["code"]["text"]: obs["valueInteger"]
        for obs in _resources(bundle, "Observation")
        if obs["code"]["coding"][0]["code"] == scales.LOINC_PAIN
    }


def _valid(bundle: dict) -> dict:
    Bundle.model_validate(bundle)
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    assert len(full_urls) == len(bundle["entry"])
    references = {r for r in _references(bundle) if r.startswith("urn:uuid:")}
    assert references <= full_urls, "every reference resolves inside the Bundle"
    return bundle


def _references(node):
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node["reference"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def test_patient_bundle_is_a_valid_collection_with_stable_ids():
    visits = [fhir.VisitFacts(_record(11)), fhir.VisitFacts(_record(12))]
    first = _valid(fhir.patient_bundle(PATIENT, visits, REGIMEN, as_of=AS_OF))
    again = fhir.patient_bundle(PATIENT, visits, REGIMEN, as_of=AS_OF)
    assert first == again
    assert first["type"] == "collection"
    kinds = [e["resource"]["resourceType"] for e in first["entry"]]
    assert kinds.count("Patient") == 1 and kinds.count("Encounter") == 2
    assert kinds.count("MedicationStatement") == len(REGIMEN)
    other = fhir.PatientFacts(4, 7, "MU-42", "Müller", "Zoë", date(1970, 1, 2), "female")
    assert fhir_terms.resource_id(other) != fhir_terms.resource_id(PATIENT)


def test_patient_resource_carries_mrn_name_birth_date_and_gender():
    patient = _resources(fhir.patient_bundle(PATIENT, [], (), as_of=AS_OF), "Patient")[0]
    assert patient["identifier"][0]["system"] == "urn:spastic:clinic:3:mrn"
    assert patient["identifier"][0]["value"] == "MU-42"
    assert patient["name"][0] == {"use": "official", "family": "Müller", "given": ["Zoë"]}
    assert (patient["birthDate"], patient["gender"]) == ("1970-01-02", "female")


@pytest.mark.parametrize(
    ("sex", "gender"),
    [("female", "female"), ("male", "male"), ("other", "other"), ("unknown", "unknown")],
)
def test_sex_codes_map_to_administrative_gender(sex, gender):
    facts = fhir.PatientFacts(3, 7, "M", "A", "B", date(1970, 1, 2), sex)
    assert _resources(fhir.patient_bundle(facts, [], (), as_of=AS_OF), "Patient")[0]["gender"] == (
        gender
    )


@pytest.mark.parametrize(("grade", "ordinal"), [(g, i) for i, g in enumerate(scales.MAS_GRADES)])
def test_mas_grade_and_ordinal_per_muscle_side(grade, ordinal):
    record = _record(grades={("hip_flexors", "right"): grade})
    bundle = _valid(fhir.visit_bundle(PATIENT, fhir.VisitFacts(record), REGIMEN))
    assert _mas(bundle) == {("hip_flexors", "right"): (grade, ordinal)}


def test_not_assessed_rows_have_no_observation_and_observations_point_home():
    bundle = _valid(fhir.visit_bundle(PATIENT, fhir.VisitFacts(_record()), REGIMEN))
    assert _mas(bundle) == {
        ("elbow_flexors", "left"): ("1+", 2),
        ("knee_flexors", "left"): ("4", 5),
    }
    encounter = _resources(bundle, "Encounter")[0]
    assert encounter["status"] == "finished"
    assert encounter["period"] == {"start": "2026-01-10", "end": "2026-01-10"}
    assert encounter["participant"][0]["individual"]["display"] == "Tess Mills"
    for obs in _resources(bundle, "Observation"):
        assert obs["status"] == "final"
        assert obs["encounter"]["reference"] == f"urn:uuid:{encounter['id']}"
    laterality = _resources(bundle, "Observation")[0]["bodySite"]["extension"][0]
    assert laterality["url"] == fhir.LATERALITY


def test_pain_now_and_worst_are_loinc_integers_and_penn_has_components():
    bundle = fhir.visit_bundle(PATIENT, fhir.VisitFacts(_record()), REGIMEN)
    assert _pain(bundle) == {
        "Pain now (0-10 numeric rating)": 4,
        "Worst pain in the last 24 hours (0-10 numeric rating)": 7,
    }
    penn = [o for o in _resources(bundle, "Observation") if o["code"] == fhir.PENN_CODE]
    parts = {c["code"]["coding"][0]["code"]: c["valueInteger"] for c in penn[0]["component"]}
    assert parts == {"penn-frequency": 2, "penn-severity": 1}


def test_missing_pain_and_penn_produce_no_observation():
    record = _record(pain_now=None, pain_worst=None, penn_frequency=None, penn_severity=None)
    bundle = _valid(fhir.visit_bundle(PATIENT, fhir.VisitFacts(record), REGIMEN))
    assert len(_resources(bundle, "Observation")) == 2  # the two assessed MAS rows


def test_amended_visit_marks_its_observations_amended():
    bundle = _valid(fhir.visit_bundle(PATIENT, fhir.VisitFacts(_record(), amended=True), ()))
    assert {o["status"] for o in _resources(bundle, "Observation")} == {"amended"}
    assert _resources(bundle, "Encounter")[0]["status"] == "finished"


def test_each_regimen_change_is_a_medication_statement_with_ucum_dose_and_route():
    bundle = _valid(fhir.patient_bundle(PATIENT, [], REGIMEN, as_of=AS_OF))
    rows = [
        (
            s["status"],
            s["dosage"][0]["route"]["coding"][0]["code"],
            s["dosage"][0].get("doseAndRate", [{}])[0].get("doseQuantity"),
        )
        for s in _resources(bundle, "MedicationStatement")
    ]
    oral, intrathecal = "26643006", "72607000"
    assert rows == [
        ("completed", oral, _quantity(30, "mg/d")),
        ("completed", oral, _quantity(45.5, "mg/d")),
        ("active", intrathecal, _quantity(150, "ug/d")),
        ("stopped", oral, None),
        ("intended", intrathecal, _quantity(180, "ug/d")),
    ]
    first = _resources(bundle, "MedicationStatement")[0]
    assert first["effectivePeriod"] == {"start": "2026-01-05", "end": "2026-02-01"}


def _quantity(value, unit):
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}


def test_visit_bundle_holds_only_the_regimen_in_force_on_the_visit_date():
    bundle = _valid(fhir.visit_bundle(PATIENT, fhir.VisitFacts(_record()), REGIMEN))
    statements = _resources(bundle, "MedicationStatement")
    assert [(s["status"], s["dosage"][0]["text"]) for s in statements] == [
        ("active", "30 mg/day oral")
    ]


def test_document_reference_describes_the_pdf_and_needs_its_visit():
    pdf = b"%PDF-1.7 summary"
    created = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    summary = fhir.SummaryPdf.of(11, pdf, "/visits/11/summary.pdf", created)
    visits = [fhir.VisitFacts(_record(11))]
    bundle = _valid(fhir.patient_bundle(PATIENT, visits, (), as_of=AS_OF, documents=[summary]))
    document = _resources(bundle, "DocumentReference")[0]
    attachment = document["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert attachment["size"] == len(pdf)
    assert base64.b64decode(attachment["hash"]) == hashlib.sha1(pdf).digest()  # noqa: S324
    assert document["masterIdentifier"]["value"].startswith("ni:///sha-256;")
    assert document["context"]["encounter"][0]["reference"].startswith("urn:uuid:")
    with pytest.raises(ValueError, match="not in the Bundle"):
        fhir.patient_bundle(PATIENT, [], (), as_of=AS_OF, documents=[summary])
    sha256_only = fhir.SummaryPdf(11, 10, "https://clinic.test/s.pdf", sha256="ab" * 32)
    bundle = _valid(fhir.patient_bundle(PATIENT, visits, (), as_of=AS_OF, documents=[sha256_only]))
    assert "hash" not in _resources(bundle, "DocumentReference")[0]["content"][0]["attachment"]


# The route, on both databases.


def add_visit(app, patient, author, visit_date, grades, *, status="signed", amend=None, **fields):
    """Store a visit through the models (signed unless told); `amend` maps key -> (old, new)."""
    values = {"rater": "Tess Mills", "pain_now": 4, "pain_worst": 7, "penn_frequency": 2, **fields}
    with app.app_context():
        visit = Visit(
            patient_id=patient.id,
            visit_date=visit_date,
            therapist_id=author.id,
            status=status,
            submission_key=secrets.token_hex(8),
            **values,
        )
        visit.mas_scores = [
            MasScore(muscle=m, side=s, grade=g, rater=values["rater"])
            for (m, s), g in grades.items()
        ]
        if status == "signed":
            visit.signed_by_id, visit.signed_at = author.id, utcnow()
        db.session.add(visit)
        db.session.flush()
        if amend:
            changes = json.dumps({key: list(pair) for key, pair in amend.items()})
            db.session.add(
                Amendment(
                    visit_id=visit.id,
                    author_id=author.id,
                    reason="Transcription error",
                    changes=changes,
                    content_hash="0" * 64,
                    submission_key=secrets.token_hex(8),
                )
            )
        db.session.commit()
        return visit.id


GRADES = {
    ("elbow_flexors", "left"): "1+",
    ("elbow_flexors", "right"): None,
    ("hip_flexors", "left"): "3",
}


@pytest.fixture
def therapist(client, auth, clinic_world):
    auth.login(clinic_world["therapist"])
    return client


def test_route_exports_signed_visits_as_stored(app, therapist, clinic_world):
    patient, author = clinic_world["patient"], clinic_world["therapist"]
    signed = add_visit(app, patient, author, date(2026, 1, 10), GRADES)
    add_visit(
        app, patient, author, date(2026, 1, 20), {("hip_flexors", "left"): "0"}, status="draft"
    )
    response = therapist.get(f"/patients/{patient.id}/fhir")
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    bundle = _valid(response.get_json(force=True))
    assert len(_resources(bundle, "Encounter")) == 1  # the draft is not exported
    with app.app_context():
        scores = db.session.scalars(select(MasScore).where(MasScore.visit_id == signed)).all()
        stored = {(s.muscle, s.side): s.grade for s in scores if s.grade is not None}
    assert _mas(bundle) == {key: (g, scales.MAS_INDEX[g]) for key, g in stored.items()}
    assert ("elbow_flexors", "right") not in _mas(bundle)
    assert _pain(bundle)["Pain now (0-10 numeric rating)"] == 4
    statement = _resources(bundle, "MedicationStatement")[0]
    assert statement["dosage"][0]["doseAndRate"][0]["doseQuantity"] == _quantity(30, "mg/d")
    assert statement["status"] == "active"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert (event.entity, event.patient_id, event.user_id) == ("fhir", patient.id, author.id)


def test_route_exports_amended_values(app, therapist, clinic_world):
    patient, author = clinic_world["patient"], clinic_world["therapist"]
    amend = {"mas:elbow_flexors:left": ("1+", "1"), "pain_now": (4, 2)}
    add_visit(app, patient, author, date(2026, 1, 10), GRADES, amend=amend)
    bundle = _valid(therapist.get(f"/patients/{patient.id}/fhir").get_json(force=True))
    assert _mas(bundle)[("elbow_flexors", "left")] == ("1", 1)
    assert _pain(bundle)["Pain now (0-10 numeric rating)"] == 2
    assert {o["status"] for o in _resources(bundle, "Observation")} == {"amended"}


def test_care_team_physician_may_export(app, client, auth, clinic_world):
    add_visit(app, clinic_world["patient"], clinic_world["therapist"], date(2026, 1, 10), GRADES)
    auth.login(clinic_world["physician"])
    assert client.get(f"/patients/{clinic_world['patient'].id}/fhir").status_code == 200


def test_route_lists_stored_summaries_as_document_references(app, therapist, clinic_world):
    patient, author = clinic_world["patient"], clinic_world["therapist"]
    visit_id = add_visit(app, patient, author, date(2026, 1, 10), GRADES)
    pdf = b"%PDF-1.7 stored summary"
    sha256 = hashlib.sha256(pdf).hexdigest()
    with app.app_context():
        stored = SummaryDocument(
            visit_id=visit_id,
            version=1,
            content_key="k" * 64,
            sha256=sha256,
            size=len(pdf),
            pdf=pdf,
        )
        db.session.add(stored)
        db.session.commit()
    bundle = _valid(therapist.get(f"/patients/{patient.id}/fhir").get_json(force=True))
    (document,) = _resources(bundle, "DocumentReference")
    attachment = document["content"][0]["attachment"]
    assert attachment["url"].endswith(f"/visits/{visit_id}/summary.pdf?version=1")
    assert (attachment["size"], attachment["contentType"]) == (len(pdf), "application/pdf")
    digest = base64.urlsafe_b64encode(hashlib.sha256(pdf).digest()).rstrip(b"=").decode()
    assert document["masterIdentifier"]["value"] == f"ni:///sha-256;{digest}"


PUMP = fhir_pumps.PumpRecord(
    pump_id=4,
    model="SynchroMed II 8637-20",
    reservoir_ml=Decimal(20),
    alarm_ml=Decimal(2),
    implant_date=date(2026, 1, 10),
    removed_on=None,
    refills=(
        fhir_pumps.RefillRecord(
            11, date(2026, 1, 10), Decimal(20), Decimal(500), None, None, first_fill=True
        ),
        fhir_pumps.RefillRecord(
            12,
            date(2026, 3, 1),
            Decimal("18.5"),
            Decimal(2000),
            Decimal("5.00"),
            Decimal("8.00"),
            first_fill=False,
        ),
    ),
)


def test_pump_is_a_device_and_refills_are_medication_administrations():
    bundle = _valid(fhir.patient_bundle(PATIENT, [], REGIMEN, as_of=date(2026, 6, 1), pumps=[PUMP]))
    resources = [e["resource"] for e in bundle["entry"]]
    (device,) = [r for r in resources if r["resourceType"] == "Device"]
    given = [r for r in resources if r["resourceType"] == "MedicationAdministration"]
    assert device["deviceName"][0]["name"] == "SynchroMed II 8637-20"
    reservoir, alarm = (p["valueQuantity"][0] for p in device["property"])
    assert reservoir == {"value": 20, "unit": "mL", "system": UCUM, "code": "mL"}
    assert alarm["value"] == 2 and device["status"] == "active"
    assert [g["effectiveDateTime"] for g in given] == ["2026-01-10", "2026-03-01"]
    second = given[1]
    assert second["dosage"]["dose"] == {"value": 18.5, "unit": "mL", "system": UCUM, "code": "mL"}
    strength = second["contained"][0]["ingredient"][0]["strength"]
    assert strength["numerator"] == {"value": 2000, "unit": "ug", "system": UCUM, "code": "ug"}
    assert strength["denominator"]["code"] == "mL"
    assert second["device"][0]["reference"] == f"urn:uuid:{device['id']}"
    assert second["note"][0]["text"] == (
        "Residual drawn out: 5.00 mL; expected by the app: 8.00 mL."
    )
    ids = {e["fullUrl"] for e in bundle["entry"]}
    assert all(g["device"][0]["reference"] in ids for g in given)


def test_the_patient_export_holds_the_pump(client, auth, clinic_world, make_patient):
    from tests.test_pumps import _pump, _refill

    patient = make_patient(
        clinic_world["home"], mrn="IT-9", doses=[(date(2026, 1, 1), "intrathecal", 300)]
    )
    auth.login(clinic_world["therapist"])
    _pump(client, patient.id)
    _refill(client, patient.id, date.today())
    bundle = _valid(client.get(f"/patients/{patient.id}/fhir").get_json())
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Device") == 1 and kinds.count("MedicationAdministration") == 1
