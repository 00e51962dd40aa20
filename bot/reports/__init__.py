"""Aggregate figures of complaints for the supervisors' reports and the public transparency page.

Framework-free: functions take a SQLAlchemy Session and plain values and return dataclasses; the dashboard
renders them. No function here returns personal data, codes or free text of a ticket.
"""
