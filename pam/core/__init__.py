"""What every page shares: the home page, static pages, errors, headers, template helpers."""
