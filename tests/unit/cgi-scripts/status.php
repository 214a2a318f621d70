<?php
if (isset($_GET["header"])) {
    header("Status: 404 Not Found");
} else {
    http_response_code(404);
}
echo "gone";
