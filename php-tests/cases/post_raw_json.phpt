--TEST--
A JSON body is read whole from php://input
--POST_RAW--
Content-Type: application/json
{"name": "alice", "list": [1, 2, 3]}
--FILE--
<?php
echo $_SERVER['CONTENT_TYPE'], "\n", $_SERVER['CONTENT_LENGTH'], "\n";
var_dump(json_decode(file_get_contents('php://input'), true)['list'][2], $_POST);
?>
--EXPECT--
application/json
36
int(3)
array(0) {
}
