"""Test support shared by every app: a small division tree and personas per area (healthchecks' BaseTestCase
idea, STYLE §9). Province 61 → city 6109 → counties 610902, 610921 → townships → villages."""
