package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/reference"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func normalizeHost(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h = strings.TrimSuffix(h, "/")
	if h == "" || h == "index.docker.io" || h == "registry-1.docker.io" {
		return reference.DefaultDomain
	}
	return h
}

func newLogin(g *globals) *cobra.Command {
	var (
		user      string
		password  string
		passStdin bool
	)
	cmd := &cobra.Command{
		Use:   "login [flags] [HOST]",
		Short: "Check credentials against a registry and store them (0600) in " + credentials.DefaultAuthFile(),
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host := reference.DefaultDomain
			if len(args) == 1 {
				host = normalizeHost(args[0])
			}
			in := bufio.NewReader(cmd.InOrStdin())
			if user == "" {
				fmt.Fprint(os.Stderr, "Username: ")
				l, err := in.ReadString('\n')
				if err != nil && err != io.EOF {
					return fmt.Errorf("read username: %w", err)
				}
				user = strings.TrimSpace(l)
			}
			switch {
			case passStdin:
				b, err := io.ReadAll(in)
				if err != nil {
					return fmt.Errorf("read password: %w", err)
				}
				password = strings.TrimRight(string(b), "\r\n")
			case password == "":
				fmt.Fprint(os.Stderr, "Password: ")
				if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					b, err := term.ReadPassword(int(f.Fd()))
					fmt.Fprintln(os.Stderr)
					if err != nil {
						return fmt.Errorf("read password: %w", err)
					}
					password = string(b)
				} else {
					l, err := in.ReadString('\n')
					if err != nil && err != io.EOF {
						return fmt.Errorf("read password: %w", err)
					}
					password = strings.TrimRight(l, "\r\n")
				}
			}
			if user == "" || password == "" {
				return usageError("username and password are required")
			}
			c, err := g.clients()
			if err != nil {
				return err
			}
			if _, err := c.transfer.Login(g.ctx(cmd), &apiv1.RegistryAuth{Host: host, Username: user, Password: password}); err != nil {
				return err
			}
			if err := credentials.SaveCredentials(credentials.DefaultAuthFile(), host, credentials.Credentials{Username: user, Password: password}); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Login Succeeded")
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "username")
	cmd.Flags().StringVarP(&password, "password", "p", "", "password (prefer --password-stdin)")
	cmd.Flags().BoolVar(&passStdin, "password-stdin", false, "read the password from stdin")
	return cmd
}

func newLogout(_ *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [HOST]",
		Short: "Remove stored credentials for a registry",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			host := reference.DefaultDomain
			if len(args) == 1 {
				host = normalizeHost(args[0])
			}
			ok, err := credentials.RemoveCredentials(credentials.DefaultAuthFile(), host)
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintf(cmd.OutOrStdout(), "Not logged in to %s\n", host)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removing login credentials for %s\n", host)
			return nil
		},
	}
}
