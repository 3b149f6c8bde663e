"""Files out of PAM: record exports (.csv and .xlsx), board packs, funders' returns."""
