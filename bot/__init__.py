"""Sapa Pekerja: a BPJS Ketenagakerjaan assistant for informal workers."""
