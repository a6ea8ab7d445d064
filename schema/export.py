"""Print the SDL that `schema.graphql` must hold: `python -m schema.export > schema.graphql`."""

from schema import build_schema

if __name__ == "__main__":
    print(build_schema().as_str())
