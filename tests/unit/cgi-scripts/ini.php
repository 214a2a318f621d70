<?php
header("Content-Type: text/plain");
echo ini_get("memory_limit"), " ", ini_get("default_charset");
