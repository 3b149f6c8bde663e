"""The RJ strategy delivery plan, the risk register and (to come) pilots."""
