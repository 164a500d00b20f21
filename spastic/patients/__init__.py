"""Patients: their details and care team, the baclofen regimen (dose changes), the patient page."""
