<?php
header("Content-Type: text/plain");
$body = file_get_contents("php://input");
echo hash("sha256", $body), " ", strlen($body);
