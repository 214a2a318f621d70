--TEST--
A file upload under upload_max_filesize lands in $_FILES, in the identity's own upload directory
--POST_RAW--
Content-Type: multipart/form-data; boundary=---------------------------20896060251896012921717172737
-----------------------------20896060251896012921717172737
Content-Disposition: form-data; name="note"

hello
-----------------------------20896060251896012921717172737
Content-Disposition: form-data; name="file"; filename="small.txt"
Content-Type: text/plain

0123456789
-----------------------------20896060251896012921717172737--
--FILE--
<?php
$f = $_FILES['file'];
echo $_POST['note'], "\n", $f['name'], ' ', $f['type'], ' ', $f['size'], ' ', $f['error'], "\n";
echo file_get_contents($f['tmp_name']), "\n";
$owner = posix_getpwuid(fileowner($f['tmp_name']))['name'];
var_dump($owner === posix_getpwuid(posix_geteuid())['name'], substr(sprintf('%o', fileperms(dirname($f['tmp_name']))), -3));
var_dump(move_uploaded_file($f['tmp_name'], __DIR__ . '/moved.txt'), file_get_contents(__DIR__ . '/moved.txt'));
?>
--EXPECT--
hello
small.txt text/plain 10 0
0123456789
bool(true)
string(3) "700"
bool(true)
string(10) "0123456789"
