"""Complaint tickets: tracking codes, lifecycle, SLA on Indonesian working days, routing and audit."""
