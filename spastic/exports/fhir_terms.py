"""The FHIR vocabulary of our exports: code systems, codes, stable resource ids, and the plain
facts a Bundle is built from (see `fhir` for the Bundles, `fhir_resources` for each resource).
"""

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from spastic.clinical import scales
from spastic.clinical.records import VisitRecord

URN_BASE = "urn:spastic"  # our own names: clinic identifier systems and local code systems
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, URN_BASE)
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
# Extensions pack, for Observation.bodySite up to R5, when the code does not carry the side.
LATERALITY = "http://hl7.org/fhir/StructureDefinition/observation-structureLaterality"
MAS_GRADE_SYSTEM = f"{URN_BASE}:CodeSystem:mas-grade"
MUSCLE_SYSTEM = f"{URN_BASE}:CodeSystem:muscle-group"
LOCAL_SYSTEM = f"{URN_BASE}:CodeSystem:observation"
SIDE_CODES = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}  # SNOMED qualifiers
ROUTE_CODES = {"oral": ("26643006", "Oral route"), "intrathecal": ("72607000", "Intrathecal route")}
UCUM_UNITS = {"mg/day": "mg/d", "mcg/day": "ug/d"}
MUSCLE_ORDER = {muscle.code: position for position, muscle in enumerate(scales.MUSCLES)}
GENDERS = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


@dataclass(frozen=True)
class PatientFacts:
    """Who the Bundle is about; `sex` is one of `scales.SEXES`."""

    clinic_id: int
    patient_id: int
    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str


@dataclass(frozen=True)
class VisitFacts:
    """One visit as recorded, amendments applied."""

    record: VisitRecord
    amended: bool = False
    signed: bool = True
    # (muscle, side) -> date of the visit a grade was carried forward from, not re-examined
    carried_from: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class SummaryPdf:
    """A stored PDF summary of a signed visit, for its DocumentReference (one digest or both)."""

    visit_id: int
    size: int
    url: str
    sha1: str | None = None  # hex digest: R4 Attachment.hash is SHA-1
    sha256: str | None = None  # hex digest, exported as an RFC 6920 ni: URI
    created: datetime | None = None  # aware
    version: int = 1  # the summary version: 1 as signed, one more per amendment
    replaces: "SummaryPdf | None" = None  # the version before, which this one supersedes
    current: bool = True  # False: a later version supersedes it

    @classmethod
    def of(cls, visit_id: int, pdf: bytes, url: str, created: datetime | None = None):
        """Describe PDF bytes: both digests and the size."""
        sha1 = hashlib.sha1(pdf, usedforsecurity=False).hexdigest()
        return cls(visit_id, len(pdf), url, sha1, hashlib.sha256(pdf).hexdigest(), created)


def resource_id(patient: PatientFacts, *parts: object) -> str:
    """Return the stable uuid of one resource about this patient."""
    name = "/".join(str(p) for p in ("clinic", patient.clinic_id, "patient", patient.patient_id))
    return str(uuid.uuid5(NAMESPACE, "/".join([name, *(str(p) for p in parts)])))


def ref(patient: PatientFacts, *parts: object) -> dict:
    return {"reference": f"urn:uuid:{resource_id(patient, *parts)}"}


def coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def concept(text: str, *codings: dict) -> dict:
    return {"coding": list(codings), "text": text} if codings else {"text": text}


MAS_CODE = concept(
    "Modified Ashworth Scale grade", coding(SNOMED, scales.SNOMED_MAS, "Modified Ashworth scale")
)
PENN_CODE = concept(
    "Penn Spasm Frequency Scale", coding(LOCAL_SYSTEM, "penn-spasm", "Penn Spasm Frequency Scale")
)
MRN_TYPE = concept(
    "Medical record number", coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR")
)
PAIN_LOINC = coding(
    LOINC, scales.LOINC_PAIN, "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
)
AMBULATORY = coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory")
