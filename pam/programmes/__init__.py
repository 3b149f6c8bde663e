"""The RJ strategy delivery plan, the risk register and pilots such as Neighbourhood Justice Panels."""
