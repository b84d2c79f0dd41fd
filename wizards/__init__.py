from . import digital_sign_request_cancel
from . import digital_sign_request_send
