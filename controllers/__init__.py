from . import signing
from . import webhook
