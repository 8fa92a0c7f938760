// Package mysql is tap-mysql: the MySQL/MariaDB driver of the SQL tap engine
// (taps/sqltap). It discovers the tables and views of the configured
// databases, maps each column's type to a JSON schema and a value encoder
// through one table (types.go), and scans rows in the text protocol, turning
// each value's raw bytes straight into JSON (a decimal is never a float).
//
//	d, err := mysql.Open(ctx, &mysql.Config{Host: "127.0.0.1", User: "root", Database: "shop"})
//	if err != nil { ... }
//	defer d.Close()
//	err = mysql.Engine(cfg, d, log).Sync(ctx, catalog, state, out)
package mysql
