--TEST--
A file upload over upload_max_filesize is refused with UPLOAD_ERR_INI_SIZE
--INI--
upload_max_filesize=8
--POST_RAW--
Content-Type: multipart/form-data; boundary=---------------------------20896060251896012921717172737
-----------------------------20896060251896012921717172737
Content-Disposition: form-data; name="note"

hello
-----------------------------20896060251896012921717172737
Content-Disposition: form-data; name="file"; filename="small.txt"
Content-Type: text/plain

this is longer than eight bytes
-----------------------------20896060251896012921717172737--
--FILE--
<?php
$f = $_FILES['file'];
var_dump($f['error'] === UPLOAD_ERR_INI_SIZE, $f['size'], $_POST['note']);
?>
--EXPECT--
bool(true)
int(0)
string(5) "hello"
