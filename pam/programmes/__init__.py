"""The RJ strategy delivery plan, the risk register, and pilots (Neighbourhood Justice Panels)."""
