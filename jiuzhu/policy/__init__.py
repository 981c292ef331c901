"""jiuzhu's policy engine: every programme's eligibility and amount, from dated regional parameters, with an
explanation. Pure Python — nothing here imports Django. See docs/policy-engine.md."""
