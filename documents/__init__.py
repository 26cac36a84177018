"""Documents kept with a case (a risk management plan, a MAPPA referral form, a photograph).

A document is tagged with one ISA category and is case data like any field: its name and
its bytes are encrypted through the field path (sharing.crypto.Encrypted, key and grant of
its category), it is listed, downloaded and counted only where the viewer may read that
category on the case's panel, and otherwise answers exactly as a document that does not
exist. Types are recognised from the content, never from the file name.
"""
