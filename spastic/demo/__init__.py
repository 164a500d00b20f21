"""Demo data for `flask --app spastic seed-demo`: clinics, accounts, patients and their visits."""
