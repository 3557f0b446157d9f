"""The Beam engines a run can use beyond the DirectRunner: each starts for real here."""
