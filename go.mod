module contigo

go 1.26.8
