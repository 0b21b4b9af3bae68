from interop.dci.models import *  # noqa
from interop.crvs.models import *  # noqa
