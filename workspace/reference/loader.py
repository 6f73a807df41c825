"""Loads reference data into the database. (stub, to be completed)"""
from dataclasses import dataclass


@dataclass
class LoadReport:
    def summary(self) -> str:
        return "TODO"


def load_reference(session) -> LoadReport:
    return LoadReport()
