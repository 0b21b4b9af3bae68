from interop.crvs.models import *  # noqa
