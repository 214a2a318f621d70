#!/bin/sh
printf 'Status: 404 Not Found\r\nContent-Type: text/plain\r\nX-Script: yes\r\n\r\nno such thing\n'
