"""Market: market assessments, tenders and bids, and funding decisions (commissioning issue)."""
