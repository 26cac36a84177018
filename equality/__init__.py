"""Equality monitoring: who is on each panel by ethnicity, gender and age band, against the local population.

The Gangs Violence Matrix failed partly because no one could show whether its cohort was
proportionate. This package counts each panel's cohort (the cases not exited at a month's
end) by the identity fields recorded on the nominal, suppresses small numbers so no count
under 5 can be read or worked out from the totals, and compares each group's share with
the partnership file's `population` baseline (a ratio with a 95% confidence interval).
"""
