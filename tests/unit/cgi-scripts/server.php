<?php
header("Content-Type: application/json");
$keys = ["SCRIPT_NAME", "PATH_INFO", "PHP_SELF", "SCRIPT_FILENAME", "DOCUMENT_ROOT", "REQUEST_URI", "QUERY_STRING"];
$out = [];
foreach ($keys as $key) {
    $out[$key] = $_SERVER[$key] ?? null;
}
echo json_encode($out);
