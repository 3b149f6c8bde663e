"""Market assessments: need, supply, gaps and co-production evidence (tenders to follow)."""
