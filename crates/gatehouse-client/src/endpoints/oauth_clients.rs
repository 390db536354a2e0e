//! The OAuth client registry (SPEC §4.4).

use reqwest::Method;
use uuid::Uuid;

use gatehouse_types::{
    ClientInput, ClientList, ClientResponse, ClientSecret, CreatedClient, DeleteClientQuery, ExportQuery, ListQuery,
    SetClientSecret,
};

use crate::{Client, Error, ExportFile, ExportFormat};

impl Client {
    /// `POST …/oauth/clients` → 201. A confidential client's secret is in the response, once.
    pub async fn create_client(&self, project_id: Uuid, input: &ClientInput) -> Result<CreatedClient, Error> {
        let p = project_id.to_string();
        self.with_body(Method::POST, &clients_path(&p), input).await
    }

    /// `GET …/oauth/clients?count=&offset=&filter=`.
    pub async fn list_clients(&self, project_id: Uuid, query: &ListQuery) -> Result<ClientList, Error> {
        let p = project_id.to_string();
        let request = self.request(Method::GET, &clients_path(&p))?.query(query);
        self.send_json(request).await
    }

    /// `GET …/oauth/clients/{client_id}` (never the secret).
    pub async fn get_client(&self, project_id: Uuid, client_id: &str) -> Result<ClientResponse, Error> {
        let p = project_id.to_string();
        self.get(&client_path(&p, client_id)).await
    }

    /// `PUT …/oauth/clients/{client_id}`: changes the fields present in `input`.
    pub async fn update_client(
        &self,
        project_id: Uuid,
        client_id: &str,
        input: &ClientInput,
    ) -> Result<ClientResponse, Error> {
        let p = project_id.to_string();
        self.with_body(Method::PUT, &client_path(&p, client_id), input).await
    }

    /// `DELETE …/oauth/clients/{client_id}?force=`. `force` is needed for official clients.
    pub async fn delete_client(&self, project_id: Uuid, client_id: &str, force: bool) -> Result<(), Error> {
        let p = project_id.to_string();
        let request = self
            .request(Method::DELETE, &client_path(&p, client_id))?
            .query(&DeleteClientQuery { force });
        self.send_empty(request).await
    }

    /// `POST …/oauth/clients/{client_id}/secret`: sets a new secret (server-generated unless
    /// `input.client_secret` is given) and returns it, once.
    pub async fn set_client_secret(
        &self,
        project_id: Uuid,
        client_id: &str,
        input: &SetClientSecret,
    ) -> Result<ClientSecret, Error> {
        let p = project_id.to_string();
        let mut path = client_path(&p, client_id).to_vec();
        path.push("secret");
        self.with_body(Method::POST, &path, input).await
    }

    /// `GET …/oauth/clients/export?format=&filter=`: the filtered registry as a file.
    pub async fn export_clients(
        &self,
        project_id: Uuid,
        format: ExportFormat,
        filter: Option<&str>,
    ) -> Result<ExportFile, Error> {
        let p = project_id.to_string();
        let mut path = clients_path(&p).to_vec();
        path.push("export");
        let query = ExportQuery {
            format: format.as_str().to_owned(),
            filter: filter.map(str::to_owned),
        };
        let request = self.request(Method::GET, &path)?.query(&query);
        let (headers, bytes) = self.send_raw(request).await?;
        Ok(ExportFile::from_parts(&headers, bytes))
    }
}

fn clients_path(project: &str) -> [&str; 5] {
    ["accounts", "projects", project, "oauth", "clients"]
}

fn client_path<'a>(project: &'a str, client_id: &'a str) -> [&'a str; 6] {
    ["accounts", "projects", project, "oauth", "clients", client_id]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_paths_encode_the_client_id() {
        let client = Client::new("http://h:1", None).expect("client");
        let p = Uuid::nil().to_string();
        let url = client.url(&client_path(&p, "a b/c")).expect("url");
        assert_eq!(
            url.as_str(),
            "http://h:1/accounts/projects/00000000-0000-0000-0000-000000000000/oauth/clients/a%20b%2Fc"
        );
    }

    #[test]
    fn list_query_is_serialised_without_absent_fields() {
        let client = Client::new("http://h", None).expect("client");
        let request = client
            .request(Method::GET, &["x"])
            .expect("request")
            .query(&ListQuery {
                count: Some(10),
                offset: None,
                filter: Some("web app".into()),
            })
            .build()
            .expect("build");
        assert_eq!(request.url().query(), Some("count=10&filter=web+app"));
    }

    #[test]
    fn delete_query_names_force() {
        let client = Client::new("http://h", None).expect("client");
        let request = client
            .request(Method::DELETE, &["x"])
            .expect("request")
            .query(&DeleteClientQuery { force: true })
            .build()
            .expect("build");
        assert_eq!(request.url().query(), Some("force=true"));
    }
}
