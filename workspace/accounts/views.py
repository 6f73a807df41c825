"""Login, logout, invitations, password reset. (stub, to be completed)"""
from flask import Blueprint

bp = Blueprint("accounts", __name__)


@bp.get("/accedi")
def login():
    return "TODO"


@bp.post("/esci")
def logout():
    return "TODO"
