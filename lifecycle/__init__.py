"""The data-protection lifecycle: retention and erasure, subject access, rectification,
the export register and the DPIA document (issue 16).

Erasure is the one place the service deletes a person: `lifecycle.retention` finds what is
past its panel's retention period, `lifecycle.erasure` deletes it (leaving a tombstone and a
pseudonymised access log) and `lifecycle.journal` keeps a record outside the database so a
restore of an older backup erases the same people again.
"""
