"""``pysetl doctor``: checks what pipelines need and says what to fix.

Added in 0.5.
"""

from pysetl.doctor._check import FAIL, OK, WARN, Check, DoctorReport, Status
from pysetl.doctor._extras import check_extras
from pysetl.doctor._java import check_java, check_spark
from pysetl.doctor._run import run_doctor

__all__ = [
    "FAIL",
    "OK",
    "WARN",
    "Check",
    "DoctorReport",
    "Status",
    "check_extras",
    "check_java",
    "check_spark",
    "run_doctor",
]
