"""Pages to browse the reference data. (stub, to be completed)"""
from flask import Blueprint

bp = Blueprint("reference", __name__)


@bp.get("/macroaree")
def macroaree():
    return "TODO"


@bp.get("/ambiti")
def ambiti():
    return "TODO"
