package bigquery

import (
	"encoding/json"
	"fmt"
	"github.com/singerkit/singerkit/internal/config"
	"os"

	"google.golang.org/api/option"
)

// checkCredentials reads a credentials_path file far enough to tell a
// user what is wrong with it, in one line and without any of its content
// (a key file holds a private key). It returns the file's credentials
// type, for option.WithAuthCredentialsFile (which loads a file only as the
// type it is told), or the problem.
func checkCredentials(path string) (option.CredentialsType, string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Sprintf("credentials_path %s cannot be read: %v", path, config.WithoutPath(err))
	}
	var key struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &key); err != nil {
		return "", fmt.Sprintf("credentials_path %s is not a JSON key file (it does not parse as a JSON object): download a service-account key (IAM > Service accounts > Keys > JSON) or leave credentials_path out to use application default credentials", path)
	}
	switch key.Type {
	case "service_account":
		return option.ServiceAccount, ""
	case "authorized_user":
		return option.AuthorizedUser, ""
	case "external_account":
		return option.ExternalAccount, ""
	case "impersonated_service_account":
		return option.ImpersonatedServiceAccount, ""
	case "":
		return "", fmt.Sprintf("credentials_path %s has no \"type\" field: it is not a Google credentials file (expected a service-account JSON key)", path)
	}
	return "", fmt.Sprintf("credentials_path %s has type %q, not a credentials type target-bigquery can use (service_account, authorized_user, external_account, impersonated_service_account)", path, key.Type)
}
