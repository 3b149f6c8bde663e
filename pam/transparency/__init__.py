"""The public transparency page: published decisions and contracts above a threshold."""
