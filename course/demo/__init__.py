"""Demo data for development and benchmarks: the demo accounts and generated cohorts (`flask demo …`)."""
