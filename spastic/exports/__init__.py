"""Exports of a patient's signed visits: the FHIR R4 Bundle and the long-format CSV."""
