<?php
header("Content-Type: text/plain");
$file = $_FILES["f"];
printf("%s %o %s", dirname($file["tmp_name"]), fileperms(dirname($file["tmp_name"])) & 0777,
       file_get_contents($file["tmp_name"]));
